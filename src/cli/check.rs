//! `sampipe check`: are the committed outputs what a fresh synth produces? Never writes.

use std::io::Write;

use clap::Args;

use super::common::{load_and_synthesize, ConfigArg, OutArg};
use super::{EXIT_DIFFERENT, EXIT_OK};
use crate::output::compare;

/// Exit 1 with a unified diff when the outputs on disk differ from a fresh synth.
///
/// Run it in CI or as a pre-commit hook so generated files never drift from sampipe.yaml.
#[derive(Debug, Args)]
pub(super) struct Check {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    out: OutArg,
}

impl Check {
    pub(super) fn run(&self, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<u8, String> {
        let synthesis = load_and_synthesize(&self.config, stderr)?;
        let stale = compare(&self.out.out, &self.out.artifacts(&synthesis)?);
        if stale.is_empty() {
            let _ = writeln!(stdout, "up to date: {}", self.out.out.display());
            return Ok(EXIT_OK);
        }
        for file in &stale {
            let _ = stdout.write_all(file.diff.as_bytes());
        }
        let names: Vec<String> = stale
            .iter()
            .map(|f| {
                format!(
                    "`{}`{}",
                    f.path.display(),
                    if f.missing { " (missing)" } else { "" }
                )
            })
            .collect();
        let _ = writeln!(
            stderr,
            "error[stale]: {} out of date: {}\n  = help: run `sampipe synth -c {} -o {}` and commit the result",
            crate::diag::count(stale.len(), "file"),
            names.join(", "),
            self.config.config.display(),
            self.out.out.display()
        );
        Ok(EXIT_DIFFERENT)
    }
}
