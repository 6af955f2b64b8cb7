//! `sampipe check`: are the committed outputs what a fresh synth produces? Never writes. It
//! checks the files where `synth` writes them: the template in the out directory, and the CI
//! file where the CI system runs it, so what is checked is what runs.

use std::io::Write;

use clap::Args;

use super::common::{load_and_synthesize, ConfigArg, OutArg, TemplateFormat};
use super::{EXIT_DIFFERENT, EXIT_OK};
use crate::output::{compare_files, is_generated};

/// Exit 1 with a unified diff when the outputs on disk differ from a fresh synth.
///
/// Compares the template in the out directory and the CI file where the CI system runs it
/// (`workflow_path`, .gitlab-ci.yml or bitbucket-pipelines.yml, relative to the config
/// file's directory), the files `synth` writes. Run it in CI or as a pre-commit hook so
/// generated files never drift from sampipe.yaml.
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
        let plan = self.out.plan(&self.config, &synthesis)?;
        let stale = compare_files(&plan.files);
        if stale.is_empty() {
            let _ = writeln!(
                stdout,
                "up to date: {}, {}",
                plan.template.display(),
                plan.ci_file.display()
            );
            return Ok(EXIT_OK);
        }
        for file in &stale {
            let _ = stdout.write_all(file.diff.as_bytes());
        }
        let names: Vec<String> = stale
            .iter()
            .map(|f| {
                let note = if f.missing {
                    " (missing)"
                } else if std::fs::read(&f.path).is_ok_and(|old| !is_generated(&old)) {
                    " (not written by sampipe, so synth will not replace it)"
                } else {
                    ""
                };
                format!("`{}`{note}", f.path.display())
            })
            .collect();
        let format = match self.out.template_format {
            TemplateFormat::Yaml => "",
            TemplateFormat::Json => " --template-format json",
        };
        let _ = writeln!(
            stderr,
            "error[stale]: {} out of date: {}\n  = help: run `sampipe synth -c {} -o {}{format}` and commit the result",
            crate::diag::count(stale.len(), "file"),
            names.join(", "),
            self.config.config.display(),
            self.out.out.display()
        );
        Ok(EXIT_DIFFERENT)
    }
}
