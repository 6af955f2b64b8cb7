//! What several subcommands share: the config and out-directory arguments, and loading plus
//! synthesizing with every problem rendered for the user.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use clap::Args;

use crate::config::{self, LoadError};
use crate::output::{Artifact, OutputFile};
use crate::pipeline::{synthesize, Synthesis};

/// `-c/--config`.
#[derive(Debug, Args)]
pub(super) struct ConfigArg {
    /// The sampipe config file.
    #[arg(short, long, value_name = "FILE", default_value = "sampipe.yaml")]
    pub(super) config: PathBuf,
}

impl ConfigArg {
    /// The repository root: the config file's directory. The config's paths (`sam_template`,
    /// `workflow_path`) are relative to it, and the CI file is written there.
    /// Empty for a config in the current directory, so paths under it print as written.
    pub(super) fn root(&self) -> PathBuf {
        self.config.parent().map(PathBuf::from).unwrap_or_default()
    }
}

/// `-o/--out` and the template's format.
#[derive(Debug, Args)]
pub(super) struct OutArg {
    /// The directory for template.yaml (or template.json). The CI file is not written here
    /// but where the CI system reads it, relative to the config file's directory (the
    /// repository root): `workflow_path` (GitHub Actions, default
    /// .github/workflows/pipeline.yaml), .gitlab-ci.yml or bitbucket-pipelines.yml.
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

    /// Where each file goes: the template in the out directory, the CI file where the CI
    /// system runs it. Refuses a plan that would put the template where it does harm.
    pub(super) fn plan(&self, config: &ConfigArg, synthesis: &Synthesis) -> Result<Plan, String> {
        let root = config.root();
        let p = &synthesis.pipeline;
        let ci_file = root.join(ci_file_in_repository(synthesis));
        let template = self.template_path();
        let mut files = Vec::new();
        for artifact in self.artifacts(synthesis)? {
            let path = if artifact.file_name.starts_with("template.") {
                template.clone()
            } else {
                ci_file.clone()
            };
            files.push(OutputFile {
                path,
                contents: artifact.contents,
            });
        }

        let out = resolve(&self.out);
        if out.ends_with(".github/workflows") {
            return Err(format!(
                "error[template-in-workflows]: `-o {}` would put {} in GitHub's workflow directory\n  = note: GitHub runs every YAML file there as a workflow; the template is not one, so every push would show a failed run\n  = help: write the template elsewhere, e.g. `-o pipeline`; the workflow itself goes to `{}` whatever `-o` says\n",
                self.out.display(),
                file_name(&template),
                ci_file.display(),
            ));
        }
        let sam_template = root.join(&p.sam_template);
        let resolved_sam = resolve(&sam_template);
        for file in &files {
            if resolve(&file.path) == resolved_sam {
                return Err(format!(
                    "error[overwrites-sam-template]: `{}` is the application's SAM template (`sam_template: {}` in `{}`)\n  = help: write the pipeline resources elsewhere, e.g. `-o pipeline`\n",
                    file.path.display(),
                    p.sam_template,
                    config.config.display(),
                ));
            }
        }
        if resolve(&template) == resolve(&ci_file) {
            return Err(format!(
                "error[template-is-ci-file]: the template and the CI file would both be `{}`\n  = help: write the template elsewhere with `-o DIR`\n",
                template.display()
            ));
        }
        Ok(Plan {
            files,
            template,
            ci_file,
        })
    }
}

/// The CI file's path from the repository root: GitHub reads `workflow_path`, GitLab and
/// Bitbucket a fixed name at the root.
pub(super) fn ci_file_in_repository(synthesis: &Synthesis) -> &str {
    let p = &synthesis.pipeline;
    match p.provider {
        crate::pipeline::Provider::GitHub(_) => p.workflow_path.as_str(),
        _ => p.provider.file_name(),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Where each generated file goes.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) files: Vec<OutputFile>,
    pub(super) template: PathBuf,
    pub(super) ci_file: PathBuf,
}

/// `path` made absolute and free of symbolic links, `.` and `..`, also when it does not
/// exist yet: its longest existing ancestor is canonicalized, the rest appended as written.
/// Two paths that name the same file resolve to the same path.
pub(crate) fn resolve(path: &Path) -> PathBuf {
    let absolute = std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .unwrap_or_else(|_| path.to_owned());
    let mut lexical = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                lexical.pop();
            }
            other => lexical.push(other),
        }
    }
    let mut rest = Vec::new();
    let mut existing = lexical.as_path();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut resolved = canonical;
            for part in rest.iter().rev() {
                resolved.push(part);
            }
            return resolved;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return lexical,
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

/// The index of stage `name`, or an error that names the stages (or the closest one).
pub(super) fn stage_index(p: &crate::pipeline::Pipeline, name: &str) -> Result<usize, String> {
    if let Some(index) = p.stages.iter().position(|s| s.name == name) {
        return Ok(index);
    }
    let names: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
    let hint = match crate::diag::did_you_mean(name, names.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!(
            "the stages are {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Err(format!(
        "error[unknown-stage]: no stage `{name}`\n  = help: {hint}\n"
    ))
}
