//! What several subcommands share: the config and out-directory arguments, and loading plus
//! synthesizing with every problem rendered for the user.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::config::{self, LoadError};
use crate::pipeline::{synthesize, Synthesis};

/// `-c/--config`.
#[derive(Debug, Args)]
pub(super) struct ConfigArg {
    /// The sampipe config file.
    #[arg(short, long, value_name = "FILE", default_value = "sampipe.yaml")]
    pub(super) config: PathBuf,
}

/// `-o/--out`.
#[derive(Debug, Args)]
pub(super) struct OutArg {
    /// The directory that holds template.yaml and pipeline.yaml.
    #[arg(short, long, value_name = "DIR", default_value = "out")]
    pub(super) out: PathBuf,
}

/// Loads, validates and synthesizes; on failure returns the rendered diagnostics.
/// Warnings are written to `stderr` either way.
pub(super) fn load_and_synthesize(
    config: &ConfigArg,
    stderr: &mut dyn Write,
) -> Result<Synthesis, String> {
    let loaded = match config::load_file(&config.config) {
        Ok(loaded) => loaded,
        Err(LoadError::Read { path, source }) => {
            return Err(format!(
                "error[read-config]: cannot read `{path}`: {source}\n  = help: pass the config with `-c FILE`, or create one with `sampipe init`\n"
            ))
        }
        Err(LoadError::Invalid { config, diagnostics }) => return Err(config.render(&diagnostics)),
    };
    if !loaded.warnings.is_empty() {
        let _ = stderr.write_all(loaded.source.render(&loaded.warnings).as_bytes());
    }
    synthesize(&loaded.config).map_err(|diagnostics| loaded.source.render(&diagnostics))
}
