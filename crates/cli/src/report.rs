//! Drift reports in the formats CI systems read: plain text, JSON, Markdown (job summaries and
//! pull-request comments), JUnit XML and SARIF 2.1.0. Values in findings are already redacted.

use strata_config::Project;
use strata_engine::drift::{DriftReport, Finding, FindingKind};

fn kind_word(k: FindingKind) -> &'static str {
    match k {
        FindingKind::Changed => "changed",
        FindingKind::Deleted => "deleted",
        FindingKind::Pending => "pending",
        FindingKind::StaleDependent => "stale dependent",
        FindingKind::Unmanaged => "unmanaged",
    }
}

/// `Drift: 1 changed, 0 deleted, 2 pending, 0 stale dependents in 3 stacks.`
pub fn summary(r: &DriftReport) -> String {
    let count = |k: FindingKind| r.findings.iter().filter(|f| f.kind == k).count();
    let unmanaged = match count(FindingKind::Unmanaged) {
        0 => String::new(),
        n => format!(", {n} unmanaged"),
    };
    let mut s = format!(
        "Drift: {} changed, {} deleted, {} pending, {} stale dependents{unmanaged} in {} stack{}.",
        count(FindingKind::Changed),
        count(FindingKind::Deleted),
        count(FindingKind::Pending),
        count(FindingKind::StaleDependent),
        r.stacks.len(),
        if r.stacks.len() == 1 { "" } else { "s" }
    );
    if !r.ignored.is_empty() {
        s.push_str(&format!(
            " {} finding(s) silenced by ignore rules.",
            r.ignored.len()
        ));
    }
    if !r.errors.is_empty() {
        s.push_str(&format!(
            " {} stack(s) could not be checked.",
            r.errors.len()
        ));
    }
    s
}

pub fn text(r: &DriftReport) -> String {
    let mut out = String::new();
    for stack in &r.stacks {
        let findings: Vec<&Finding> = r.findings.iter().filter(|f| &f.stack == stack).collect();
        let error = r.errors.iter().find(|e| &e.stack == stack);
        match (findings.is_empty(), error) {
            (_, Some(e)) => {
                out.push_str(&format!("{stack}: could not be checked: {}\n", e.message))
            }
            (true, None) => out.push_str(&format!("{stack}: no drift\n")),
            (false, None) => {
                out.push_str(&format!("{stack}:\n"));
                for f in findings {
                    let note = f
                        .note
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default();
                    out.push_str(&format!(
                        "  {:<15} {}{note}\n",
                        kind_word(f.kind),
                        f.message
                    ));
                }
            }
        }
    }
    for f in &r.ignored {
        out.push_str(&format!(
            "{}: ignored {} ({})\n",
            f.stack,
            f.message,
            f.note.as_deref().unwrap_or("")
        ));
    }
    out.push('\n');
    out.push_str(&summary(r));
    out.push('\n');
    out
}

pub fn json(r: &DriftReport) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default()
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn markdown(r: &DriftReport) -> String {
    let mut out = format!("## Drift report: {} ({})\n\n", r.project, r.environment);
    out.push_str(&format!("{}\n\n", summary(r)));
    if !r.findings.is_empty() {
        out.push_str("| stack | kind | resource | attribute | state | cloud | configuration |\n|---|---|---|---|---|---|---|\n");
        for f in &r.findings {
            let v = |x: &Option<serde_json::Value>| {
                x.as_ref()
                    .map(|v| format!("`{}`", md_escape(&v.to_string())))
                    .unwrap_or_default()
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                md_escape(&f.stack),
                kind_word(f.kind),
                f.address
                    .as_deref()
                    .map(|a| format!("`{}`", md_escape(a)))
                    .unwrap_or_default(),
                f.attribute.as_deref().map(md_escape).unwrap_or_default(),
                v(&f.state_value),
                v(&f.cloud_value),
                v(&f.config_value),
            ));
        }
        out.push('\n');
    }
    for e in &r.errors {
        out.push_str(&format!(
            "- **{}** could not be checked: {}\n",
            md_escape(&e.stack),
            md_escape(&e.message)
        ));
    }
    if r.findings.iter().any(|f| f.kind == FindingKind::Pending) {
        out.push_str("\nPending changes are merged configuration that was never applied: run `strata apply`.\n");
    }
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// One test suite per stack; one failing test case per finding, or one passing case for a stack
/// without findings, so that CI dashboards show every stack.
pub fn junit(r: &DriftReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let failures = r.findings.len();
    out.push_str(&format!(
        "<testsuites name=\"strata drift\" tests=\"{}\" failures=\"{failures}\" errors=\"{}\">\n",
        r.stacks
            .iter()
            .map(|s| r.findings.iter().filter(|f| &f.stack == s).count().max(1))
            .sum::<usize>(),
        r.errors.len()
    ));
    for stack in &r.stacks {
        let findings: Vec<&Finding> = r.findings.iter().filter(|f| &f.stack == stack).collect();
        let error = r.errors.iter().find(|e| &e.stack == stack);
        let tests = findings.len().max(1);
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{}\" errors=\"{}\">\n",
            xml(stack),
            findings.len(),
            usize::from(error.is_some())
        ));
        if let Some(e) = error {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"drift check\">\n      <error message=\"{}\"/>\n    </testcase>\n",
                xml(stack),
                xml(&e.message)
            ));
        } else if findings.is_empty() {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"no drift\"/>\n",
                xml(stack)
            ));
        }
        for f in findings {
            let name = format!(
                "{} {}",
                f.address.as_deref().unwrap_or(stack),
                f.attribute.as_deref().unwrap_or("")
            )
            .trim()
            .to_string();
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\">\n      <failure type=\"{}\" message=\"{}\"/>\n    </testcase>\n",
                xml(stack),
                xml(&name),
                kind_word(f.kind),
                xml(&f.message)
            ));
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// SARIF 2.1.0: one rule per kind of finding, one result per finding, located at the resource
/// block in the configuration so code-scanning views can annotate the file.
pub fn sarif(r: &DriftReport, project: &Project) -> String {
    let rules: Vec<serde_json::Value> = [
        (
            FindingKind::Changed,
            "changed",
            "The cloud's value differs from state: changed outside Strata.",
        ),
        (
            FindingKind::Deleted,
            "deleted",
            "The object no longer exists in the cloud.",
        ),
        (
            FindingKind::Pending,
            "pending",
            "The configuration differs from state: merged but not applied.",
        ),
        (
            FindingKind::StaleDependent,
            "stale-dependent",
            "The stack consumed outputs of a stack that changed after it was applied.",
        ),
        (
            FindingKind::Unmanaged,
            "unmanaged",
            "An object in the cloud that no state manages.",
        ),
    ]
    .iter()
    .map(|(_, id, text)| serde_json::json!({ "id": id, "shortDescription": { "text": text } }))
    .collect();
    let rule_id = |k: FindingKind| match k {
        FindingKind::Changed => "changed",
        FindingKind::Deleted => "deleted",
        FindingKind::Pending => "pending",
        FindingKind::StaleDependent => "stale-dependent",
        FindingKind::Unmanaged => "unmanaged",
    };
    let results: Vec<serde_json::Value> = r
        .findings
        .iter()
        .map(|f| {
            let mut result = serde_json::json!({
                "ruleId": rule_id(f.kind),
                "level": if f.kind.is_cloud_drift() { "error" } else { "warning" },
                "message": { "text": f.message },
            });
            if let Some(span) = location(project, f) {
                let uri = span.file.to_string_lossy().replace('\\', "/");
                result["locations"] = serde_json::json!([{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri },
                        "region": { "startLine": span.line, "startColumn": span.col }
                    }
                }]);
            }
            result
        })
        .collect();
    let doc = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "strata",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules
            }},
            "results": results
        }]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// The configuration block a finding is about (relative to the project root).
fn location(project: &Project, f: &Finding) -> Option<strata_core::Span> {
    let stack = project.stacks.get(&f.stack)?;
    let Some(address) = &f.address else {
        return stack.dependencies.values().next().map(|d| d.span.clone());
    };
    let a = strata_core::Address::parse(address).ok()?;
    stack
        .resource(a.mode, &a.type_name, &a.name)
        .map(|b| b.span.clone())
}
