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
    /// A stage, `name=account/region` (repeat, in deployment order).
    #[arg(long = "stage", value_name = "NAME=ACCOUNT/REGION")]
    stages: Vec<StageSpec>,
    /// Overwrite an existing config.
    #[arg(long)]
    force: bool,
}

impl Init {
    pub(super) fn run(
        &self,
        stdout: &mut dyn Write,
        _stderr: &mut dyn Write,
    ) -> Result<u8, String> {
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
