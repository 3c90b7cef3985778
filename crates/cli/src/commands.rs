//! One function per command. Each returns the exit code or an error that `report` prints.

use crate::args::{
    ApplyArgs, Cli, Command, DestroyArgs, DriftArgs, DriftFormat, GraphFormat, PlanArgs, Selection,
    StateCommand,
};
use crate::exit;
use crate::progress::{Progress, Quiet};
use crate::session::{self, hinted, ConfigErrors, Hinted};
use anyhow::{anyhow, Context};
use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use strata_core::{Address, AddressPattern, Diagnostic, Value};
use strata_engine::stacks;
use strata_engine::{ApplyReport, EngineError, Options};
use strata_plan::{Action, Plan};
use tokio_util::sync::CancellationToken;

pub async fn run(cli: Cli) -> u8 {
    let result = match &cli.command {
        Command::Init { migrate_state } => init(&cli, *migrate_state).await,
        Command::Validate { json } => validate(&cli, *json),
        Command::Plan(a) => plan(&cli, a).await,
        Command::Apply(a) => apply(&cli, a).await,
        Command::Destroy(a) => destroy(&cli, a).await,
        Command::Drift(a) => drift(&cli, a).await,
        Command::Output {
            stack,
            name,
            json,
            raw,
        } => output(&cli, stack, name.as_deref(), *json, *raw).await,
        Command::Graph {
            stacks,
            all,
            format,
        } => graph(&cli, stacks, *all, *format),
        Command::Show { planfile, json } => show(&cli, planfile, *json),
        Command::State(s) => state(&cli, s).await,
        Command::Emulator(e) => crate::emulate::command(&cli, e).await,
        Command::Providers { json } => providers(*json),
    };
    match result {
        Ok(code) => code,
        Err(e) => report(e),
    }
}

/// Prints an error the way users read it: diagnostics with their source lines, or one
/// `error:` line with a `hint:` where there is a next step.
fn report(e: anyhow::Error) -> u8 {
    let diags = if let Some(ConfigErrors(d)) = e.downcast_ref::<ConfigErrors>() {
        Some(d.clone())
    } else if let Some(EngineError::Config(d)) = e.downcast_ref::<EngineError>() {
        Some(d.clone())
    } else {
        None
    };
    if let Some(diags) = diags {
        print_diagnostics(&diags);
        return exit::ERROR;
    }
    if let Some(h) = e.downcast_ref::<Hinted>() {
        eprintln!("error: {}", h.message);
        if let Some(hint) = &h.hint {
            eprintln!("hint: {hint}");
        }
        return exit::ERROR;
    }
    if let Some(engine) = e.downcast_ref::<EngineError>() {
        eprintln!("error: {engine}");
        match engine {
            EngineError::StalePlan { .. } => {
                eprintln!("hint: run strata plan again and apply the new plan")
            }
            _ => {
                if let Some(h) = engine.hint() {
                    eprintln!("hint: {h}");
                }
            }
        }
        return exit::ERROR;
    }
    eprintln!("error: {e:#}");
    exit::ERROR
}

fn print_diagnostics(diags: &[Diagnostic]) {
    for d in diags {
        eprintln!("{}", d.render());
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        eprintln!(
            "{errors} error{} found.",
            if errors == 1 { "" } else { "s" }
        );
    }
}

/// A token cancelled by the first Ctrl-C; the second one exits at once (state stays consistent:
/// every journal entry is durable before the next operation starts).
fn interrupt_token() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "Interrupt received: no new operations will start; waiting for those in flight."
            );
            eprintln!("Press Ctrl-C again to stop at once.");
            t.cancel();
        }
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Stopping now.");
            std::process::exit(exit::INTERRUPTED as i32);
        }
    });
    token
}

fn patterns(list: &[String]) -> anyhow::Result<Vec<AddressPattern>> {
    list.iter()
        .map(|s| {
            AddressPattern::parse(s).map_err(|e| {
                hinted(
                    e,
                    "addresses look like STACK/TYPE.NAME or STACK/TYPE.NAME[\"key\"]",
                )
            })
        })
        .collect()
}

fn options(sel: &Selection) -> anyhow::Result<Options> {
    Ok(Options {
        parallelism: sel.parallelism.max(1),
        adaptive_parallelism: !sel.fixed_parallelism,
        unmanaged: false,
        refresh: sel.refresh,
        targets: patterns(&sel.target)?,
        excludes: patterns(&sel.exclude)?,
        env_vars: session::env_vars(),
    })
}

async fn init(cli: &Cli, migrate_state: bool) -> anyhow::Result<u8> {
    let project = session::load_project(cli)?;
    let env = session::choose_env(&project, cli.env.as_deref())?;
    let registry = session::registry();
    let diags = strata_engine::run::validate(&project, &env, &registry, &session::env_vars());
    if diags.iter().any(Diagnostic::is_error) {
        return Err(anyhow::Error::new(ConfigErrors(diags)));
    }
    let store = session::open_store(&project, "init").await?;
    let previous = crate::migrate::previous_backend(&project)?;
    if migrate_state {
        match previous
            .as_ref()
            .filter(|p| !crate::migrate::same(p, &project.backend))
        {
            Some(from) => crate::migrate::migrate(&project, from, store.as_ref()).await?,
            None => {
                outln!("The state backend is the one the last strata init saw; nothing to migrate.")
            }
        }
    } else if let Some(from) = previous
        .as_ref()
        .filter(|p| !crate::migrate::same(p, &project.backend))
    {
        return Err(hinted(
            format!(
                "the state backend changed from {} to {} since the last strata init",
                crate::migrate::describe(from),
                crate::migrate::describe(&project.backend)
            ),
            "run strata init -migrate-state to copy every state to the new backend",
        ));
    }
    drop(store);
    if project.backend.kind == "s3" {
        // A store that ignores conditional writes would make locks and compare-and-swap lie.
        session::open_s3(&project, "init")
            .await?
            .probe_conditional_writes()
            .await
            .map_err(|e| {
                let hint = e.hint().unwrap_or_default();
                hinted(e.to_string(), hint)
            })?;
        outln!("  the bucket honours conditional writes (If-None-Match, If-Match)");
    }
    crate::migrate::remember_backend(&project)?;
    outln!("Project {:?} at {}", project.name, project.root.display());
    outln!("  environment: {env}");
    outln!(
        "  stacks:      {}",
        project
            .stacks
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    outln!(
        "  backend:     {} ({})",
        project.backend.kind,
        project.root.join(".strata").display()
    );
    let mut used: BTreeSet<String> = BTreeSet::new();
    for s in project.stacks.values() {
        for r in &s.resources {
            used.insert(r.provider_name().to_string());
        }
    }
    outln!(
        "  providers:   {}",
        used.into_iter().collect::<Vec<_>>().join(", ")
    );
    outln!("Strata is ready: run strata plan --all.");
    Ok(exit::OK)
}

fn validate(cli: &Cli, json: bool) -> anyhow::Result<u8> {
    let root = session::find_root(cli.dir.as_deref())?;
    // Load what loads, then check the rest too: one run reports every error it can find.
    let (project, loaded) = strata_config::load_project_partial(&root);
    let mut diags = loaded.0;
    if let Some(project) = project {
        let env = session::choose_env(&project, cli.env.as_deref())?;
        diags.extend(strata_engine::run::validate(
            &project,
            &env,
            &session::registry(),
            &session::env_vars(),
        ));
    }
    let mut seen = BTreeSet::new();
    diags.retain(|d| seen.insert(d.render()));
    diags.sort_by(|a, b| {
        let key = |d: &Diagnostic| d.span.as_ref().map(|s| (s.file.clone(), s.line, s.col));
        key(a).cmp(&key(b))
    });
    Ok(validation_result(&diags, json))
}

fn validation_result(diags: &[Diagnostic], json: bool) -> u8 {
    let errors = diags.iter().any(Diagnostic::is_error);
    if json {
        let v =
            serde_json::json!({ "format_version": "1.0", "valid": !errors, "diagnostics": diags });
        outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else if diags.is_empty() {
        outln!("The configuration is valid.");
    } else {
        print_diagnostics(diags);
    }
    if errors {
        exit::ERROR
    } else {
        exit::OK
    }
}

async fn plan(cli: &Cli, args: &PlanArgs) -> anyhow::Result<u8> {
    let cancel = interrupt_token();
    let opened = session::open(
        cli,
        "plan",
        options(&args.selection)?,
        Arc::new(Quiet),
        cancel.clone(),
    )
    .await?;
    let s = &opened.session;
    let selected = stacks::select(&s.project, &args.selection.stacks, args.selection.all)?;
    let locks = session::lock_stacks(s, &selected, "plan").await?;
    let plan = s.plan(&selected, args.destroy).await;
    session::release_locks(locks).await;
    let plan = plan?;
    if cancel.is_cancelled() {
        return Ok(exit::INTERRUPTED);
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&strata_plan::to_json(&plan))?
        );
    } else {
        out!("{}", strata_plan::render_text(&plan));
    }
    if let Some(out) = &args.out {
        plan.write_file(out, session::sealer(&s.project)?.as_deref())
            .with_context(|| format!("saving the plan to {}", out.display()))?;
        if !args.json {
            outln!(
                "\nSaved the plan to {}. To apply exactly this plan, run: strata apply {}",
                out.display(),
                out.display()
            );
        }
    }
    if args.detailed_exitcode && plan.has_changes() {
        return Ok(exit::CHANGES);
    }
    Ok(exit::OK)
}

/// Asks for `yes` on the terminal (or standard input).
fn confirm(question: &str) -> anyhow::Result<bool> {
    outln!("\n{question}");
    outln!("  Only 'yes' will be accepted to approve.\n");
    out!("  Enter a value: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    outln!();
    Ok(line.trim() == "yes")
}

async fn apply(cli: &Cli, args: &ApplyArgs) -> anyhow::Result<u8> {
    let cancel = interrupt_token();
    let progress = Progress::new();
    let sel = Selection {
        stacks: Vec::new(),
        all: args.all,
        target: args.target.clone(),
        exclude: args.exclude.clone(),
        parallelism: args.parallelism,
        fixed_parallelism: args.fixed_parallelism,
        refresh: args.refresh,
    };
    let opened = session::open(
        cli,
        "apply",
        options(&sel)?,
        progress.clone(),
        cancel.clone(),
    )
    .await?;
    let s = &opened.session;
    // A positional argument is a plan file when it names a file, else a stack.
    let mut planfile: Option<PathBuf> = None;
    let mut names = Vec::new();
    for a in &args.args {
        let p = PathBuf::from(a);
        if !s.project.stacks.contains_key(a.trim_end_matches('/')) && p.is_file() {
            if planfile.replace(p).is_some() {
                return Err(hinted(
                    "more than one plan file given",
                    "apply one saved plan at a time",
                ));
            }
        } else {
            names.push(a.clone());
        }
    }
    // The locks of the stacks the run works on, held until it ends.
    let locks;
    let plan = match &planfile {
        Some(file) => {
            if !names.is_empty() || args.all {
                return Err(hinted(
                    "a saved plan already names its stacks",
                    format!("run: strata apply {}", file.display()),
                ));
            }
            let plan = Plan::read_file(file, session::sealer(&s.project)?.as_deref())?;
            let selected = plan.stacks.iter().map(|p| p.stack.clone()).collect();
            locks = session::lock_stacks(s, &selected, "apply").await?;
            s.check_saved_plan(&plan).await?;
            plan
        }
        None => {
            let selected = stacks::select(&s.project, &names, args.all)?;
            locks = session::lock_stacks(s, &selected, "apply").await?;
            let plan = s.plan(&selected, false).await?;
            out!("{}", strata_plan::render_text(&plan));
            if !plan.has_changes() {
                return Ok(exit::OK);
            }
            if !args.auto_approve && !confirm("Do you want to perform these actions?")? {
                outln!("Apply cancelled.");
                return Ok(exit::ERROR);
            }
            plan
        }
    };
    let ticker = progress.start_ticker();
    let report = s.apply(&plan).await;
    ticker.abort();
    let report = report?;
    session::release_locks(locks).await;
    Ok(finish(&report, false))
}

async fn destroy(cli: &Cli, args: &DestroyArgs) -> anyhow::Result<u8> {
    let cancel = interrupt_token();
    let progress = Progress::new();
    let opened = session::open(
        cli,
        "destroy",
        options(&args.selection)?,
        progress.clone(),
        cancel.clone(),
    )
    .await?;
    let s = &opened.session;
    let selected = stacks::select(&s.project, &args.selection.stacks, args.selection.all)?;
    let locks = session::lock_stacks(s, &selected, "destroy").await?;
    let plan = s.plan(&selected, true).await?;
    out!("{}", strata_plan::render_text(&plan));
    if !plan.has_changes() {
        return Ok(exit::OK);
    }
    if !args.auto_approve && !confirm("Do you really want to destroy these resources?")? {
        outln!("Destroy cancelled.");
        return Ok(exit::ERROR);
    }
    let ticker = progress.start_ticker();
    let report = s.apply(&plan).await;
    ticker.abort();
    session::release_locks(locks).await;
    Ok(finish(&report?, true))
}

/// Parses `I/N` of `--shard`.
fn parse_shard(s: &str) -> anyhow::Result<(usize, usize)> {
    let bad = || {
        hinted(
            format!("--shard {s:?} is not I/N"),
            "give the shard as I/N with 1 <= I <= N, e.g. --shard 2/4",
        )
    };
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

async fn drift(cli: &Cli, args: &DriftArgs) -> anyhow::Result<u8> {
    use strata_engine::drift::{shard, FrozenState};
    let cancel = interrupt_token();
    let options = Options {
        parallelism: args.parallelism.max(1),
        adaptive_parallelism: !args.fixed_parallelism,
        unmanaged: args.unmanaged,
        env_vars: session::env_vars(),
        ..Options::default()
    };
    let opened = session::open(cli, "drift", options, Arc::new(Quiet), cancel).await?;
    let mut s = opened.session;
    let mut selected = stacks::select(&s.project, &args.stacks, args.all)?;
    if let Some(spec) = &args.shard {
        let (i, n) = parse_shard(spec)?;
        selected = shard(&selected, i, n);
    }
    let diags: Vec<Diagnostic> = s
        .validate()
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    if !diags.is_empty() {
        return Err(anyhow::Error::new(ConfigErrors(diags)));
    }
    // Load state, then let go of the backend and its lock: the cloud reads that follow must not
    // hold up an apply, and nothing after this point can write state.
    let inputs = s.drift_inputs(&selected).await?;
    s.store = Arc::new(FrozenState::new(&s.env, &inputs));
    let report = s.drift(&selected, &inputs).await;
    let text = match args.format {
        DriftFormat::Text => crate::report::text(&report),
        DriftFormat::Json => crate::report::json(&report),
        DriftFormat::Markdown => crate::report::markdown(&report),
        DriftFormat::Junit => crate::report::junit(&report),
        DriftFormat::Sarif => crate::report::sarif(&report, &s.project),
    };
    match &args.report {
        Some(file) => {
            std::fs::write(file, &text)
                .with_context(|| format!("writing the report to {}", file.display()))?;
            outln!("{}", crate::report::summary(&report));
            outln!("Report written to {}.", file.display());
        }
        None => out!("{text}"),
    }
    Ok(if !report.errors.is_empty() {
        exit::ERROR
    } else if report.has_findings() {
        exit::CHANGES
    } else {
        exit::OK
    })
}

/// Prints the closing summary of an apply or destroy and picks the exit code.
fn finish(report: &ApplyReport, destroy: bool) -> u8 {
    let added = report.count(|a| matches!(a, Action::Create | Action::Replace));
    let changed = report.count(|a| a == Action::Update);
    let destroyed = report.count(|a| matches!(a, Action::Delete | Action::Replace));
    let failed: Vec<&(Address, String)> =
        report.stacks.iter().flat_map(|(_, s)| &s.failed).collect();
    let skipped: Vec<&(Address, String)> =
        report.stacks.iter().flat_map(|(_, s)| &s.skipped).collect();
    let not_started: Vec<&Address> = report
        .stacks
        .iter()
        .flat_map(|(_, s)| &s.not_started)
        .collect();
    outln!();
    if report.ok() {
        if destroy {
            outln!("Destroy complete! Resources: {destroyed} destroyed.");
        } else {
            outln!("Apply complete! Resources: {added} added, {changed} changed, {destroyed} destroyed.");
        }
        return exit::OK;
    }
    let verb = if destroy { "Destroy" } else { "Apply" };
    outln!(
        "{verb} {}: {added} added, {changed} changed, {destroyed} destroyed; {} failed, {} skipped, {} not started.",
        if report.interrupted { "interrupted" } else { "failed" },
        failed.len(),
        skipped.len(),
        not_started.len()
    );
    for (a, e) in &failed {
        outln!("  failed:      {a}: {}", e.lines().next().unwrap_or(""));
    }
    for (a, why) in &skipped {
        outln!("  skipped:     {a} ({why})");
    }
    for a in &not_started {
        outln!("  not started: {a}");
    }
    for (stack, why) in &report.skipped_stacks {
        outln!("  stack {stack} not applied: {why}");
    }
    outln!("State records every operation that completed; run the same command again to finish the job.");
    if report.interrupted {
        exit::INTERRUPTED
    } else {
        exit::ERROR
    }
}

async fn output(
    cli: &Cli,
    stack: &str,
    name: Option<&str>,
    json: bool,
    raw: bool,
) -> anyhow::Result<u8> {
    let project = session::load_project(cli)?;
    let env = session::choose_env(&project, cli.env.as_deref())?;
    stacks::select(&project, &[stack.to_string()], false)?;
    let store = session::open_store(&project, "output").await?;
    let key = strata_state::StateKey {
        env: env.clone(),
        stack: stack.trim_end_matches('/').to_string(),
    };
    let state = store
        .load(&key)
        .await?
        .map(|l| l.state)
        .unwrap_or_else(strata_state::StackState::new);
    let outputs = &state.outputs;
    if outputs.is_empty() {
        return Err(hinted(
            format!("stack {stack:?} has no outputs in environment {env:?}"),
            format!("apply it first: strata apply {stack}"),
        ));
    }
    if let Some(n) = name {
        let Some(o) = outputs.get(n) else {
            let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
            let hint = match strata_core::diagnostic::nearest(n, names.iter().copied()) {
                Some(near) => format!("did you mean {near:?}?"),
                None => format!("the outputs are: {}", names.join(", ")),
            };
            return Err(hinted(format!("stack {stack:?} has no output {n:?}"), hint));
        };
        if raw {
            match &o.value {
                serde_json::Value::String(s) => out!("{s}"),
                v => out!("{v}"),
            }
            return Ok(exit::OK);
        }
        if o.sensitive {
            outln!("(sensitive)");
            eprintln!("hint: strata output {stack} {n} --raw prints the value");
        } else if json {
            outln!("{}", serde_json::to_string_pretty(&o.value)?);
        } else {
            outln!("{}", Value::from_json(&o.value).render());
        }
        return Ok(exit::OK);
    }
    if raw {
        return Err(hinted(
            "--raw prints one output",
            format!("name it: strata output {stack} NAME --raw"),
        ));
    }
    if json {
        let m: serde_json::Map<String, serde_json::Value> = outputs
            .iter()
            .map(|(k, o)| {
                let value = if o.sensitive {
                    serde_json::Value::Null
                } else {
                    o.value.clone()
                };
                (
                    k.clone(),
                    serde_json::json!({ "value": value, "sensitive": o.sensitive }),
                )
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&m)?);
    } else {
        for (k, o) in outputs {
            let v = if o.sensitive {
                "(sensitive)".to_string()
            } else {
                Value::from_json(&o.value).render()
            };
            outln!("{k} = {v}");
        }
    }
    Ok(exit::OK)
}

fn graph(cli: &Cli, names: &[String], all: bool, format: GraphFormat) -> anyhow::Result<u8> {
    let project = session::load_project(cli)?;
    let selected = stacks::select(&project, names, all)?;
    let dag = stacks::project_graph(&project, &selected)?;
    let text = match format {
        GraphFormat::Dot => dag.to_dot(|n| n.clone()),
        GraphFormat::Mermaid => dag.to_mermaid(|n| n.clone()),
    };
    outln!("{text}");
    Ok(exit::OK)
}

/// Writes `bytes` to `path` readable by its owner only: a pulled state holds secrets.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

fn state_error(e: strata_state::StateError) -> anyhow::Error {
    match e.hint() {
        Some(h) => hinted(e.to_string(), h),
        None => anyhow!(e),
    }
}

/// Replaces the state of `key` by `pushed`, refusing another lineage or an older serial
/// unless `force`.
async fn push_state(
    store: &dyn strata_state::StateStore,
    key: &strata_state::StateKey,
    mut pushed: strata_state::StackState,
    force: bool,
) -> anyhow::Result<u64> {
    let stored = store.load(key).await.map_err(state_error)?;
    let base = match &stored {
        None => 0,
        Some(l) => {
            if !force && !pushed.lineage.is_empty() && pushed.lineage != l.state.lineage {
                return Err(hinted(
                    format!(
                        "the file belongs to another state (lineage {}, {key} has lineage {})",
                        pushed.lineage, l.state.lineage
                    ),
                    "push a file pulled from this stack, or pass --force to replace it anyway",
                ));
            }
            if !force && pushed.serial < l.state.serial {
                return Err(hinted(
                    format!(
                        "the file is older than the stored state (serial {} < {})",
                        pushed.serial, l.state.serial
                    ),
                    "pull the current state first, or pass --force to go back to the file's version",
                ));
            }
            if force {
                pushed.lineage = l.state.lineage.clone();
            }
            l.state.serial
        }
    };
    store.persist(key, &pushed, base).await.map_err(state_error)
}

fn show(cli: &Cli, planfile: &PathBuf, json: bool) -> anyhow::Result<u8> {
    // A sealed plan file opens with the passphrase of the project around it, if any.
    let sealer = match session::load_project(cli) {
        Ok(project) => session::sealer(&project)?,
        Err(_) => None,
    };
    let plan = Plan::read_file(planfile, sealer.as_deref())?;
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&strata_plan::to_json(&plan))?
        );
    } else {
        out!("{}", strata_plan::render_text(&plan));
    }
    Ok(exit::OK)
}

fn providers(json: bool) -> anyhow::Result<u8> {
    let registry = session::registry();
    if json {
        let m: serde_json::Map<String, serde_json::Value> = registry
            .providers()
            .map(|p| Ok((p.name().to_string(), serde_json::to_value(p.schema())?)))
            .collect::<Result<_, serde_json::Error>>()?;
        outln!("{}", serde_json::to_string_pretty(&m)?);
        return Ok(exit::OK);
    }
    if registry.providers().next().is_none() {
        outln!("No providers are compiled into this build.");
    }
    for p in registry.providers() {
        let schema = p.schema();
        outln!("provider {:?}", p.name());
        for (kind, types) in [
            ("resource", &schema.resources),
            ("data", &schema.data_sources),
        ] {
            for (t, rs) in types {
                outln!("  {kind} {t}");
                print_block(&rs.block, 4);
            }
        }
    }
    Ok(exit::OK)
}

fn print_block(block: &strata_core::schema::BlockSchema, indent: usize) {
    use strata_core::schema::Presence;
    for (name, a) in &block.attributes {
        let presence = match a.presence {
            Presence::Required => "required",
            Presence::Optional => "optional",
            Presence::Computed => "computed",
            Presence::OptionalComputed => "optional, computed",
        };
        let mut flags = vec![a.ty.describe(), presence.to_string()];
        if a.force_new {
            flags.push("forces replacement".into());
        }
        if a.sensitive {
            flags.push("sensitive".into());
        }
        outln!("{:indent$}{name} ({})", "", flags.join(", "));
    }
    for (name, b) in &block.blocks {
        outln!("{:indent$}{name} {{ }} ({:?} block)", "", b.nesting);
        print_block(&b.block, indent + 2);
    }
}

async fn state(cli: &Cli, cmd: &StateCommand) -> anyhow::Result<u8> {
    let project = session::load_project(cli)?;
    let env = session::choose_env(&project, cli.env.as_deref())?;
    let store = session::open_store(&project, "state").await?;
    let key = |stack: &str| strata_state::StateKey {
        env: env.clone(),
        stack: stack.to_string(),
    };
    let parse = |a: &str| {
        Address::parse(a).map_err(|e| hinted(e, "addresses look like STACK/TYPE.NAME[\"key\"]"))
    };
    match cmd {
        StateCommand::List { stacks: names } => {
            let selected = stacks::select(&project, names, names.is_empty())?;
            for stack in selected {
                if let Some(l) = store.load(&key(&stack)).await? {
                    for r in l.state.resources.values() {
                        outln!("{}", r.address);
                    }
                    for i in &l.open_intents {
                        outln!(
                            "{} (interrupted {:?}, settled by the next apply)",
                            i.address,
                            i.action
                        );
                    }
                }
            }
        }
        StateCommand::Show { address } => {
            let a = parse(address)?;
            let l = store.load(&key(&a.stack)).await?;
            let Some(r) = l.as_ref().and_then(|l| l.state.resources.get(&a.local())) else {
                return Err(hinted(
                    format!("{a} is not in state"),
                    format!("strata state list {} shows what is", a.stack),
                ));
            };
            outln!("# {}", r.address);
            outln!("resource {:?} {:?} {{", r.address.type_name, r.address.name);
            outln!("  # provider = {}, id = {}", r.provider, r.id);
            if let Some(m) = r.value().as_map() {
                for (k, v) in m {
                    outln!("  {k} = {}", v.render());
                }
            }
            outln!("}}");
        }
        StateCommand::Rm { address } => {
            let a = parse(address)?;
            let l = store.load(&key(&a.stack)).await?;
            let Some(mut st) = l.map(|l| l.state) else {
                return Err(hinted(
                    format!("{a} is not in state"),
                    format!("strata state list {} shows what is", a.stack),
                ));
            };
            let base = st.serial;
            if st.resources.remove(&a.local()).is_none() {
                return Err(hinted(
                    format!("{a} is not in state"),
                    format!("strata state list {} shows what is", a.stack),
                ));
            }
            store.persist(&key(&a.stack), &st, base).await?;
            outln!("Removed {a} from state; the cloud object was left as it is.");
        }
        StateCommand::Mv {
            source,
            destination,
        } => {
            let (s, d) = (parse(source)?, parse(destination)?);
            if s.stack != d.stack {
                return Err(hinted(
                    "state mv moves within one stack",
                    "remove it from one stack and import it into the other",
                ));
            }
            let Some(mut st) = store.load(&key(&s.stack)).await?.map(|l| l.state) else {
                return Err(hinted(
                    format!("{s} is not in state"),
                    "strata state list shows what is",
                ));
            };
            if st.resources.contains_key(&d.local()) {
                return Err(hinted(
                    format!("{d} is already in state"),
                    "remove or move it first",
                ));
            }
            let Some(mut r) = st.resources.remove(&s.local()) else {
                return Err(hinted(
                    format!("{s} is not in state"),
                    "strata state list shows what is",
                ));
            };
            if r.address.type_name != d.type_name {
                return Err(hinted(
                    "state mv cannot change a resource's type",
                    "move to an address of the same type",
                ));
            }
            let base = st.serial;
            r.address = d.clone();
            st.resources.insert(d.local(), r);
            store.persist(&key(&s.stack), &st, base).await?;
            outln!("Moved {s} to {d}.");
        }
        StateCommand::Pending { stacks: names } => {
            let selected = stacks::select(&project, names, names.is_empty())?;
            let mut any = false;
            for stack in selected {
                let Some(l) = store.load(&key(&stack)).await? else {
                    continue;
                };
                for i in &l.open_intents {
                    any = true;
                    let (what, next) = match i.action {
                        strata_state::IntentAction::Create => (
                            "create",
                            "the next plan or apply looks the object up by name and adopts it, or creates it again if it does not exist",
                        ),
                        strata_state::IntentAction::Update => (
                            "update",
                            "the next plan or apply refreshes the object and plans whatever is still different",
                        ),
                        strata_state::IntentAction::Delete => (
                            "delete",
                            "the next plan or apply reads the object: gone means deleted, present means it is planned for deletion again",
                        ),
                    };
                    let id = i
                        .cloud_id
                        .as_deref()
                        .map(|c| format!(" (cloud id {c})"))
                        .unwrap_or_default();
                    outln!(
                        "{}: {what} interrupted, started at {}{id}",
                        i.address,
                        i.started_at
                    );
                    outln!("  {next}");
                }
            }
            if !any {
                outln!("No interrupted operations.");
            }
        }
        StateCommand::Unlock { stack, lock_id } => {
            stacks::select(&project, std::slice::from_ref(stack), false)?;
            let holder = store.unlock(&key(stack), lock_id).await.map_err(|e| {
                let hint = e
                    .hint()
                    .unwrap_or_else(|| "strata state unlock STACK LOCK_ID".into());
                hinted(e.to_string(), hint)
            })?;
            outln!(
                "Removed lock {lock_id} of {} held by PID {} ({} by {}@{}).",
                key(stack),
                holder.pid,
                holder.operation,
                holder.user,
                holder.host
            );
        }
        StateCommand::History { stack } => {
            stacks::select(&project, std::slice::from_ref(stack), false)?;
            for h in store.history(&key(stack)).await? {
                outln!(
                    "serial {:>5}  {}  {} resources",
                    h.serial,
                    h.written_at,
                    h.resources
                );
            }
        }
        StateCommand::Restore { stack, serial } => {
            stacks::select(&project, std::slice::from_ref(stack), false)?;
            let key = key(stack);
            let guard = store.lock(&key, "state").await?;
            let restored = store.restore(&key, *serial).await;
            let _ = guard.release().await;
            restored.map_err(state_error)?;
            let now = store.load(&key).await?.map(|l| l.state.serial);
            outln!(
                "Restored version {serial} of {key}; it is now serial {}.",
                now.unwrap_or_default()
            );
            outln!("hint: run strata plan {stack} to see what the cloud needs to match it");
        }
        StateCommand::Pull { stack, file } => {
            stacks::select(&project, std::slice::from_ref(stack), false)?;
            let key = key(stack);
            let Some(loaded) = store.load(&key).await? else {
                return Err(hinted(
                    format!("{key} has no stored state"),
                    "apply the stack first, or check --env",
                ));
            };
            let codec = session::state_codec(&project)?;
            let bytes = codec
                .encode_snapshot(&loaded.state)
                .map_err(|e| anyhow!("encoding the state of {key}: {e:?}"))?;
            write_private(file, &bytes)?;
            outln!(
                "Wrote the state of {key} (serial {}, {} resources) to {}{}.",
                loaded.state.serial,
                loaded.state.resources.len(),
                file.display(),
                if codec.is_sealed() { ", encrypted" } else { "" }
            );
            if !loaded.open_intents.is_empty() {
                outln!(
                    "note: {} interrupted operations are not in the file; `strata state pending {stack}` lists them",
                    loaded.open_intents.len()
                );
            }
        }
        StateCommand::Push { stack, file, force } => {
            stacks::select(&project, std::slice::from_ref(stack), false)?;
            let key = key(stack);
            let bytes =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let pushed = session::state_codec(&project)?
                .decode_snapshot(&bytes)
                .map_err(|e| {
                    anyhow!(
                        "{} is not a usable state file: {}",
                        file.display(),
                        strata_state::codec::CodecError::describe(&e)
                    )
                })?;
            let guard = store.lock(&key, "state").await?;
            let result = push_state(store.as_ref(), &key, pushed, *force).await;
            let _ = guard.release().await;
            let serial = result?;
            outln!(
                "Pushed {} to {key}; it is now serial {serial}.",
                file.display()
            );
        }
    }
    Ok(exit::OK)
}
