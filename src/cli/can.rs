//! `sampipe can`: may this role of that stage make this request?

use std::io::Write;

use clap::{Args, ValueEnum};

use super::common::{load_and_synthesize, stage_index, ConfigArg};
use super::{EXIT_DIFFERENT, EXIT_OK};
use crate::permissions::evaluator::{Permissions, Request};
use crate::permissions::prove::{stage_policies, Role};

/// Answer ALLOW (exit 0) or DENY (exit 1), with the statement that decided, for one of the
/// roles the pipeline-resources template creates, as IAM evaluates its identity policies.
///
/// Example: may the feature role change the dev stack?
///   sampipe can --stage dev --role feature --action cloudformation:CreateChangeSet \
///     --resource arn:aws:cloudformation:us-east-2:111111111111:stack/sam-app-dev/x
#[derive(Debug, Args)]
pub(super) struct Can {
    #[command(flatten)]
    config: ConfigArg,
    /// The stage whose role is asked.
    #[arg(long)]
    stage: String,
    /// The role: the pipeline execution role, the feature-branch role, or the CloudFormation
    /// execution role either of them passes.
    #[arg(long, value_enum)]
    role: RoleArg,
    /// The IAM action, e.g. `iam:PassRole`.
    #[arg(long)]
    action: String,
    /// The resource ARN, or `*`.
    #[arg(long)]
    resource: String,
    /// A request context key, `key=value` (e.g. `iam:PassedToService=lambda.amazonaws.com`,
    /// `iam:PermissionsBoundary=arn:...`). Keys not given are absent, as AWS sees them.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    context: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum RoleArg {
    Pipeline,
    Feature,
    Cfn,
    FeatureCfn,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Pipeline => Role::Pipeline,
            RoleArg::Feature => Role::Feature,
            RoleArg::Cfn => Role::Cfn,
            RoleArg::FeatureCfn => Role::FeatureCfn,
        }
    }
}

impl Can {
    pub(super) fn run(&self, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<u8, String> {
        let synthesis = load_and_synthesize(&self.config, stderr)?;
        let p = &synthesis.pipeline;
        let index = stage_index(p, &self.stage)?;
        let stage = &p.stages[index];
        let role = Role::from(self.role);
        let policies = stage_policies(&synthesis.template, stage)
            .map_err(|e| format!("error[internal-error]: {e}\n"))?;
        let Some(resolved) = policies.role(role) else {
            let why = match role {
                Role::Feature | Role::FeatureCfn => {
                    "only the first stage has feature roles, when `feature_branches` is set"
                }
                _ => "the stage reuses an existing CloudFormation execution role (`existing.cloudformation_execution_role`), whose policies sampipe does not know",
            };
            return Err(format!(
                "error[no-such-role]: stage `{}` has no {} role in the template\n  = help: {why}\n",
                stage.name,
                role.word()
            ));
        };
        let mut request = Request::new(&self.action, &self.resource);
        for pair in &self.context {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(format!("error[invalid-context]: `{pair}` is not `key=value`\n  = help: write e.g. `--context iam:PassedToService=lambda.amazonaws.com`\n"));
            };
            request = request.with(key, value);
        }
        let permissions = Permissions::new(&resolved.policies, resolved.boundary.as_ref())
            .map_err(|e| format!("error[internal-error]: {e}\n"))?;
        let evaluation = permissions
            .evaluate(&request)
            .map_err(|e| format!("error[invalid-request]: {e}\n  = help: give an action `service:Name` and a resource ARN or `*`\n"))?;
        let verdict = if evaluation.allowed() {
            "ALLOW"
        } else {
            "DENY"
        };
        let mut text = format!(
            "{verdict}: stage `{}`, {} role {}\n  action    {}\n  resource  {}\n",
            stage.name,
            role.word(),
            resolved.arn,
            self.action,
            self.resource
        );
        for (key, values) in &request.context {
            text.push_str(&format!("  context   {key} = {}\n", values.join(", ")));
        }
        text.push_str(&format!("  reason    {}\n", evaluation.explain()));
        if !resolved.unseen.is_empty() {
            text.push_str(&format!(
                "  note      managed policies attached by ARN are not evaluated: {}\n",
                resolved.unseen.join(", ")
            ));
        }
        let _ = stdout.write_all(text.as_bytes());
        Ok(if evaluation.allowed() {
            EXIT_OK
        } else {
            EXIT_DIFFERENT
        })
    }
}
