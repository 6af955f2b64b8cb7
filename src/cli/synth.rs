//! `sampipe synth`: validate, synthesize, prove, then write the outputs.

use std::io::Write;

use clap::Args;

use super::common::{load_and_synthesize, ConfigArg, OutArg};
use super::EXIT_OK;
use crate::output::{write_all, Outcome, WriteError};

/// The largest template body `aws cloudformation deploy` can send without `--s3-bucket`.
const INLINE_TEMPLATE_MAX: usize = 51_200;

/// Write template.yaml and the CI file, and print how to deploy each stage's resources.
///
/// Nothing is written unless the config is valid and the trust proof holds; each file is
/// replaced atomically, and unchanged files are left untouched.
#[derive(Debug, Args)]
pub(super) struct Synth {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    out: OutArg,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

impl Synth {
    pub(super) fn run(&self, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<u8, String> {
        let synthesis = load_and_synthesize(&self.config, stderr)?;
        let files = self.out.artifacts(&synthesis)?;
        let outcomes = write_all(&self.out.out, &files).map_err(|error| {
            let help = match error {
                WriteError::Replace { .. } => {
                    "run `sampipe synth` again; files already replaced are complete"
                }
                _ => "choose another directory with `-o DIR`, or fix its permissions",
            };
            format!("error[write]: {error}\n  = help: {help}\n")
        })?;
        if self.quiet {
            return Ok(EXIT_OK);
        }
        let mut text = String::new();
        for (path, outcome) in &outcomes {
            let verb = match outcome {
                Outcome::Written => "wrote",
                Outcome::Unchanged => "unchanged",
            };
            text.push_str(&format!("{verb:>9} {}\n", path.display()));
        }
        let template = self.out.template_path();
        text.push_str(
            "\nDeploy each stage's pipeline resources once, in this order (the first stage of each\naccount creates the CI system's OIDC provider), with credentials for that stage's account:\n",
        );
        // `aws cloudformation deploy` sends a template inline only up to 51,200 bytes; a larger
        // one must be staged in a bucket that already exists.
        let template_bytes = files
            .iter()
            .find(|f| f.file_name.starts_with("template."))
            .map_or(0, |f| f.contents.len());
        let staging = if template_bytes > INLINE_TEMPLATE_MAX {
            " --s3-bucket EXISTING-BUCKET"
        } else {
            ""
        };
        for stage in &synthesis.pipeline.stages {
            text.push_str(&format!(
                "  aws cloudformation deploy --template-file {} --stack-name {} --parameter-overrides Stage={} --capabilities CAPABILITY_NAMED_IAM --region {} --no-fail-on-empty-changeset{staging}\n",
                template.display(),
                stage.resources_stack_name,
                stage.name,
                stage.region,
            ));
        }
        if !staging.is_empty() {
            text.push_str(&format!(
                "The template is {template_bytes} bytes, over the {INLINE_TEMPLATE_MAX} CloudFormation accepts inline: replace EXISTING-BUCKET\nwith a bucket in that region that the deploying credentials can write to.\n"
            ));
        }
        let provider = &synthesis.pipeline.provider;
        let committed_as = match provider {
            crate::pipeline::Provider::GitHub(_) => synthesis.pipeline.workflow_path.as_str(),
            // GitLab and Bitbucket read their file from the repository's root.
            _ => provider.file_name(),
        };
        text.push_str(&format!(
            "Then commit {} as {committed_as}.\n",
            self.out.out.join(provider.file_name()).display(),
        ));
        let _ = stdout.write_all(text.as_bytes());
        Ok(EXIT_OK)
    }
}
