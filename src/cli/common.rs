//! What several subcommands share: the config and out-directory arguments, and loading plus
//! synthesizing with every problem rendered for the user.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::config::{self, LoadError};
use crate::output::Artifact;
use crate::pipeline::{synthesize, Synthesis};

/// `-c/--config`.
#[derive(Debug, Args)]
pub(super) struct ConfigArg {
    /// The sampipe config file.
    #[arg(short, long, value_name = "FILE", default_value = "sampipe.yaml")]
    pub(super) config: PathBuf,
}

/// `-o/--out` and the template's format.
#[derive(Debug, Args)]
pub(super) struct OutArg {
    /// The directory that holds template.yaml and pipeline.yaml.
    #[arg(short, long, value_name = "DIR", default_value = "out")]
    pub(super) out: PathBuf,
    /// Write the template as YAML with short-form intrinsics, or as JSON (template.json) with
    /// long-form intrinsics.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = TemplateFormat::Yaml)]
    pub(super) template_format: TemplateFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum TemplateFormat {
    Yaml,
    Json,
}

impl OutArg {
    /// The files to write or compare, in the requested template format.
    pub(super) fn artifacts(&self, synthesis: &Synthesis) -> Result<Vec<Artifact>, String> {
        let mut files = synthesis.files.clone();
        if self.template_format == TemplateFormat::Json {
            let json = crate::pipeline::template::render_json(&synthesis.template)
                .map_err(|d| d.render("", "", &|_, _| None))?;
            for file in &mut files {
                if file.file_name == "template.yaml" {
                    *file = Artifact {
                        file_name: "template.json",
                        contents: json.clone(),
                    };
                }
            }
        }
        Ok(files)
    }

    /// The template's path in the out directory.
    pub(super) fn template_path(&self) -> PathBuf {
        match self.template_format {
            TemplateFormat::Yaml => self.out.join("template.yaml"),
            TemplateFormat::Json => self.out.join("template.json"),
        }
    }
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
