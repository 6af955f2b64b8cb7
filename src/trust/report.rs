//! The trust map as a person reads it (`sampipe explain`).

use std::fmt::Write as _;

use super::prove::TrustMap;

/// Renders the trust map as aligned text, one block per stage.
pub fn render_text(map: &TrustMap) -> String {
    let mut out = String::new();
    let _ = match map.ci.as_str() {
        "GitHub Actions" => writeln!(
            out,
            "Trust map of `{}`: GitHub repository {}, workflow {}",
            map.app, map.repository, map.workflow_path
        ),
        ci => writeln!(
            out,
            "Trust map of `{}`: {ci}, {}, file {}",
            map.app, map.repository, map.workflow_path
        ),
    };
    for note in &map.notes {
        let _ = writeln!(out, "\nnote: {note}");
    }
    for stage in &map.stages {
        let which = match stage.role.as_str() {
            "feature" => ", feature-branch role",
            _ => "",
        };
        let _ = writeln!(
            out,
            "\nstage {} (account {}, {}{which})",
            stage.stage, stage.account, stage.region
        );
        let _ = writeln!(out, "  role       {}", stage.role_arn);
        let _ = writeln!(out, "  provider   {}", stage.provider_arn);
        let _ = writeln!(
            out,
            "  admits     a token that matches one of these statements:"
        );
        for statement in &stage.statements {
            let _ = writeln!(
                out,
                "    {}",
                statement.sid.as_deref().unwrap_or("(statement)")
            );
            for (condition, values) in &statement.conditions {
                let (operator, key) = condition.split_once(' ').unwrap_or(("", condition));
                let claim = key.rsplit(':').next().unwrap_or(key);
                let relation = if operator == "StringLike" {
                    "like"
                } else {
                    "="
                };
                let shown = if values.len() == 1 {
                    values[0].clone()
                } else {
                    format!("one of {}", values.join(", "))
                };
                let _ = writeln!(out, "      {claim:<17} {relation:<4} {shown}");
            }
        }
        let _ = writeln!(out, "  used by");
        // Job ids in one column, as wide as the longest (at least 15, the usual width).
        let width = stage
            .jobs
            .iter()
            .map(|j| j.job.len())
            .max()
            .unwrap_or(0)
            .max(15);
        for job in &stage.jobs {
            let _ = writeln!(
                out,
                "    {:<width$} {} ({})",
                job.job, job.purpose, job.trigger
            );
        }
        let _ = writeln!(
            out,
            "  denies     these {} hostile claim sets (proven on every synth):",
            stage.denied.len()
        );
        for what in &stage.denied {
            let _ = writeln!(out, "    - {what}");
        }
        if !stage.limits.is_empty() {
            let _ = writeln!(
                out,
                "  admits     these {} claim sets too: the token does not tell them from this role's jobs",
                stage.limits.len()
            );
            // Grouped by the control that must stop them, in order of first appearance.
            let mut controls: Vec<&str> = Vec::new();
            for limit in &stage.limits {
                if !controls.contains(&limit.control.as_str()) {
                    controls.push(&limit.control);
                }
            }
            for control in controls {
                for limit in stage.limits.iter().filter(|l| l.control == control) {
                    let _ = writeln!(out, "    - {}", limit.admitted);
                }
                let _ = writeln!(out, "    stop them with: {control}");
            }
        }
        if !stage.warnings.is_empty() {
            let _ = writeln!(out, "  warnings");
            for warning in &stage.warnings {
                let _ = writeln!(out, "    ! {warning}");
            }
        }
    }
    out
}
