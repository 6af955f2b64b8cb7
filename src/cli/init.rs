//! `sampipe init`: write a commented starter config.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::EXIT_OK;
use crate::init::{detect, render, StageSpec};

/// Write a commented starter sampipe.yaml, filled from the repository's git remote and current
/// branch (read offline from .git); what cannot be inferred is a marked placeholder that
/// `synth` refuses until it is filled in.
#[derive(Debug, Args)]
pub(super) struct Init {
    /// Where to write the config.
    #[arg(short, long, value_name = "FILE", default_value = "sampipe.yaml")]
    config: PathBuf,
    /// A stage, `name=account/region` (repeat, in deployment order). Checked with the
    /// config's rules: a `[a-z][a-z0-9-]*` name, a 12-digit account, an AWS region.
    #[arg(long = "stage", value_name = "NAME=ACCOUNT/REGION")]
    stages: Vec<StageSpec>,
    /// Overwrite an existing config.
    #[arg(long)]
    force: bool,
}

impl Init {
    pub(super) fn run(&self, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<u8, String> {
        // The config validator's rules and messages: a stage init writes must be one synth
        // accepts.
        let mut errors = String::new();
        let mut warnings = String::new();
        for (index, stage) in self.stages.iter().enumerate() {
            let given = format!("--stage {}={}/{}", stage.name, stage.account, stage.region);
            let mut problems =
                crate::config::validate::stage_problems(&stage.name, &stage.account, &stage.region);
            if let Some(first) = self.stages[..index]
                .iter()
                .position(|s| s.name == stage.name)
            {
                problems.push(
                    crate::diag::Diagnostic::error(
                        "duplicate-stage",
                        format!("stage name `{}` is used twice", stage.name),
                    )
                    .help(format!(
                        "stage names must be unique; rename one of them (also the name of --stage number {})",
                        first + 1
                    )),
                );
            }
            for problem in problems {
                let rendered = problem.render(&given, "", &|_, _| None);
                if problem.is_error() {
                    errors.push_str(&rendered);
                } else {
                    warnings.push_str(&rendered);
                }
            }
        }
        let _ = stderr.write_all(warnings.as_bytes());
        if !errors.is_empty() {
            return Err(format!(
                "{errors}error: nothing was written; fix the `--stage` values (`name=account/region`, e.g. `dev=111111111111/us-east-1`)\n"
            ));
        }
        if self.config.exists() && !self.force {
            return Err(format!(
                "error[config-exists]: `{}` already exists\n  = help: pass `--force` to overwrite it, or `-c FILE` to write elsewhere\n",
                self.config.display()
            ));
        }
        let start = self
            .config
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        let detected = detect(&start);
        let text = render(&detected, &self.stages);
        std::fs::write(&self.config, text).map_err(|e| {
            format!(
                "error[write]: cannot write `{}`: {e}\n",
                self.config.display()
            )
        })?;
        let _ = writeln!(
            stdout,
            "wrote {}; fill in the values marked <FILL-IN: ...>, then run `sampipe synth -c {}`",
            self.config.display(),
            self.config.display()
        );
        Ok(EXIT_OK)
    }
}
